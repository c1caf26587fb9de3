//! Pure drawing: model in, frame out. No I/O here, ever.

use super::layout::Drawn;
use super::main_view;
use super::model::*;
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout};
use ratatui::widgets::{Paragraph, Wrap};

pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Draws a frame (see [`frame`] for what was drawn where).
pub fn draw(f: &mut Frame, m: &Model, t: &Theme) {
    let _ = frame(f, m, t);
}

/// Draws a frame and returns where the main screen put its list and details, for
/// hit-testing clicks; the run loop stores it in the model.
pub fn frame(f: &mut Frame, m: &Model, t: &Theme) -> Drawn {
    let drawn = screens_and_panes(f, m, t);
    inert(f);
    drawn
}

/// Untrusted text (card names, registry strings) can carry bidi controls. ratatui keeps
/// a zero-width one in the cell before it, and the terminal would then reorder the rest
/// of the line; control characters it drops itself. Whatever drew the text, none is sent.
fn inert(f: &mut Frame) {
    use crate::core::text::is_bidi_control;
    for cell in f.buffer_mut().content.iter_mut() {
        if cell.symbol().chars().any(is_bidi_control) {
            let kept: String = cell
                .symbol()
                .chars()
                .filter(|&c| !is_bidi_control(c))
                .collect();
            cell.set_symbol(if kept.is_empty() { " " } else { &kept });
        }
    }
}

fn screens_and_panes(f: &mut Frame, m: &Model, t: &Theme) -> Drawn {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let msg = format!(
            "Terminal too small ({}×{}): capiscio-tui needs at least {}×{}.",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return Drawn::default();
    }
    // Setup problems (an unreadable directory, `~` in CAPISCIO_KEY_DIR) belong to no
    // identity; `list` prints them under the table, the UI under the header.
    let note_rows = m.notes.len().min(main_view::MAX_NOTE_ROWS) as u16;
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(note_rows),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    main_view::header(f, rows[0], m, t);
    main_view::notes(f, rows[1], m, t);
    let body = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
        .split(rows[2]);
    let list = main_view::list(f, body[0], m, t, m.main.drawn.list_offset);
    let details = main_view::details(f, body[1], m, t);
    main_view::footer(f, rows[3], m, t);
    super::screens::draw(f, area, m, t);
    Drawn {
        details: details.details,
        details_height: details.details_height,
        details_max: details.details_max,
        ..list
    }
}

/// Draws a frame on the terminal and records the layout in the model.
pub fn render(
    terminal: &mut ratatui::DefaultTerminal,
    m: &mut Model,
    t: &Theme,
) -> std::io::Result<()> {
    let mut drawn = Drawn::default();
    terminal.draw(|f| drawn = frame(f, m, t))?;
    m.main.drawn = drawn;
    Ok(())
}

pub use super::screens::export::mask;
