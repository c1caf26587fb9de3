//! The modal screens, one file each: its state, its keys and its drawing. `update` and
//! `view` only dispatch here, so a screen can change without touching the main screen.

pub mod actions;
pub mod confirm;
pub mod export;
pub mod generate;
pub mod help;
pub mod identify;
pub mod log;
pub mod push;
pub mod results;
pub mod rotate;

use super::model::{Effect, Model, Screen};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear};

/// Keys while a modal screen is open (never called for the main screen).
pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    // Ctrl-C ends the session from any screen, except while a rotation is running: the
    // wizard shows it to the end (the journal would recover it, but nobody should need that).
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        match &m.screen {
            Screen::Rotate(st) if st.running => {
                m.toast = Some("A rotation is running: wait for it to finish".into())
            }
            _ => m.quit = true,
        }
        return Vec::new();
    }
    match &m.screen {
        Screen::Main => Vec::new(),
        Screen::Help => help::key(m, k),
        Screen::Export(_) => export::key(m, k),
        Screen::Generate(_) => generate::key(m, k),
        Screen::Rotate(_) => rotate::key(m, k),
        Screen::Log(_) => log::key(m, k),
        Screen::Confirm(_) => confirm::key(m, k),
        Screen::Push(_) => push::key(m, k),
        Screen::Identify(_) => identify::key(m, k),
    }
}

/// Draws the open modal screen over the main screen.
pub fn draw(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    match &m.screen {
        Screen::Main => {}
        Screen::Help => help::draw(f, area, m.session.help_scroll, t),
        Screen::Export(st) => export::draw(f, area, st, m, t),
        Screen::Generate(g) => generate::draw(f, area, g, t),
        Screen::Rotate(st) => rotate::draw(f, area, st, t),
        Screen::Log(st) => log::draw(f, area, st, m, t),
        Screen::Confirm(st) => confirm::draw(f, area, st, t),
        Screen::Push(st) => push::draw(f, area, st, m, t),
        Screen::Identify(st) => identify::draw(f, area, st, t),
    }
}

/// A centred rectangle of at most `w`×`h` inside `area`, one cell from its edges.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clears the modal's whole rectangle (borders included) and the column on each side
/// of it, so no character of the screen below bleeds into its edges: a wide glyph cut
/// in half by the border would otherwise still be drawn over it.
pub fn frame<'a>(f: &mut Frame, area: Rect, r: Rect, title: String) -> (Block<'a>, Rect) {
    let margin = Rect {
        x: r.x.saturating_sub(1),
        y: r.y,
        width: r.width + 2,
        height: r.height,
    }
    .intersection(area);
    f.render_widget(Clear, margin);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(r);
    (block, inner)
}

/// How many lines to scroll so that `len` lines fit into `height` after `offset`.
pub fn clamp_scroll(offset: u16, len: usize, height: u16) -> u16 {
    let max = len.saturating_sub(height as usize) as u16;
    offset.min(max)
}

/// Rows `lines` take when word-wrapped to `width` (greedy, as the paragraph wraps), so
/// a modal can size its fixed part and know whether its body has more below.
pub fn wrapped_rows(lines: &[Line], width: u16) -> usize {
    let width = width.max(1) as usize;
    lines
        .iter()
        .map(|l| {
            let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
            let mut rows = 1;
            let mut col = 0;
            for word in text.split_inclusive(' ') {
                let w = ratatui::text::Span::raw(word).width();
                let bare = ratatui::text::Span::raw(word.trim_end()).width();
                if col > 0 && col + bare > width {
                    rows += 1;
                    col = 0;
                }
                if w > width {
                    rows += (col + w - 1) / width;
                    col = (col + w) % width;
                } else {
                    col += w;
                }
            }
            rows
        })
        .sum()
}

/// `prefix` then `text` word-wrapped to `width`, continuation lines indented under the
/// text (a hanging indent), so a wrapped consequence or step still reads as one item.
pub fn hanging<'a>(
    prefix: Vec<ratatui::text::Span<'a>>,
    text: &str,
    style: ratatui::style::Style,
    width: u16,
) -> Vec<Line<'a>> {
    use ratatui::text::Span;
    let indent: usize = prefix.iter().map(|s| s.width()).sum();
    let room = (width as usize).saturating_sub(indent).max(10);
    let mut rows: Vec<String> = vec![String::new()];
    for word in text.split(' ') {
        let last = rows.last_mut().expect("one row");
        let used = Span::raw(last.as_str()).width();
        let w = Span::raw(word).width();
        if used > 0 && used + 1 + w > room {
            rows.push(word.to_string());
        } else {
            if used > 0 {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    let mut out = Vec::new();
    for (n, row) in rows.into_iter().enumerate() {
        let mut spans = if n == 0 {
            prefix.clone()
        } else {
            vec![Span::raw(" ".repeat(indent))]
        };
        spans.push(Span::styled(row, style));
        out.push(Line::from(spans));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::model::{Model, Msg};
    use super::super::update::update;
    use crate::core::identity::{Identity, Kind, Source};
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
    use ratatui::text::Line;

    /// Over a thousand pseudo-random keys on every screen, drawn at 80×24 and 200×60
    /// after each: no panic, whatever is pressed.
    #[test]
    fn random_keys_on_every_screen_never_panic() {
        let mut m = Model::new("/h".into(), "http://127.0.0.1:1".into(), Some(30), true, 0);
        m.identities = (0..5)
            .map(|n| Identity {
                name: Some(format!("agent-{n}")),
                ..Identity::new(format!("id-{n}"), Kind::Agent, Source::Disk, "/h/x")
            })
            .collect();
        let codes = [
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Backspace,
            KeyCode::Delete,
        ];
        let theme = super::super::theme::Theme::new(None);
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut terms = [
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap(),
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 60)).unwrap(),
        ];
        for _ in 0..1200 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let r = (seed % 1000) as usize;
            let (code, modifiers) = match r % 4 {
                0 => (codes[r / 4 % codes.len()], KeyModifiers::NONE),
                1 => (
                    KeyCode::Char((b' ' + (r / 4 % 95) as u8) as char),
                    KeyModifiers::NONE,
                ),
                2 => (
                    KeyCode::Char(['u', 'w', 'n', 'a', 'e', 'k', 'y'][r / 4 % 7]),
                    KeyModifiers::CONTROL,
                ),
                _ => (
                    KeyCode::Char(
                        ['R', 'u', 'E', 'L', 'e', 'n', '?', 's', 'y', 'b', 'a'][r / 4 % 11],
                    ),
                    KeyModifiers::NONE,
                ),
            };
            if code == KeyCode::Char('c') && modifiers == KeyModifiers::CONTROL {
                continue;
            }
            update(
                &mut m,
                Msg::Key(KeyEvent {
                    code,
                    modifiers,
                    kind: KeyEventKind::Press,
                    state: KeyEventState::NONE,
                }),
            );
            m.quit = false;
            for t in &mut terms {
                t.draw(|f| super::super::view::draw(f, &m, &theme)).unwrap();
            }
        }
    }

    #[test]
    fn hanging_indent() {
        let lines = super::hanging(
            vec![ratatui::text::Span::raw(" ✖ ")],
            "one two three four five six",
            ratatui::style::Style::default(),
            16,
        );
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, [" ✖ one two three", "   four five six"]);
    }

    #[test]
    fn wrapped_rows_counts_word_wrapping() {
        assert_eq!(super::wrapped_rows(&[Line::from("")], 10), 1);
        assert_eq!(super::wrapped_rows(&[Line::from("aaaa bbbb")], 10), 1);
        assert_eq!(super::wrapped_rows(&[Line::from("aaaa bbbb cc")], 10), 2);
        assert_eq!(
            super::wrapped_rows(&[Line::from("aaaaaaaaaaaaaaaaaaaaaaaaa")], 10),
            3
        );
    }
}
