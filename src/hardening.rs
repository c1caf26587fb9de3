//! Process-level protection for the private keys this process holds: no core dumps, and
//! not attachable (ptrace) by other processes of the same user (Linux).

/// Disables core dumps (RLIMIT_CORE = 0) and marks the process non-dumpable. Best effort:
/// a failure is not a reason to refuse to run, so errors are ignored.
pub fn no_core_dumps() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{
            DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit,
        };
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        );
        let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
    }
}
