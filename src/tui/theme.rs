//! Colours are a second channel, never the only one: every state also has a glyph and a
//! word. `NO_COLOR` (or `--theme mono`) drops colour; selection stays visible by reversal.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ThemeName {
    Dark,
    Light,
    Mono,
}

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
    pub light: bool,
}

impl Theme {
    pub fn new(name: Option<ThemeName>) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        match name {
            Some(ThemeName::Mono) => Self {
                color: false,
                light: false,
            },
            Some(ThemeName::Light) => Self {
                color: !no_color,
                light: true,
            },
            _ => Self {
                color: !no_color,
                light: false,
            },
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warning(&self) -> Style {
        self.fg(if self.light {
            Color::Rgb(160, 100, 0)
        } else {
            Color::Yellow
        })
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn dim(&self) -> Style {
        if self.color {
            self.fg(Color::DarkGray)
        } else {
            Style::default().add_modifier(Modifier::DIM)
        }
    }
    pub fn accent(&self) -> Style {
        self.fg(if self.light { Color::Blue } else { Color::Cyan })
            .add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    pub fn header(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
}
