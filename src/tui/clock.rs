//! Where the UI's time comes from. The model never reads a clock: it is told the time by
//! `Msg::Tick`, so tests advance it by sending ticks; the runtime reads this clock for the
//! ticks and for every effect that stamps time (archives, agent cards, journals).

pub trait Clock: Send + Sync {
    /// Unix seconds.
    fn now(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        crate::cli_now()
    }
}
