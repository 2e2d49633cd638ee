// The tool type has the function's visibility, so it is reachable wherever the function is.

mod tools {
    /// Restart a service.
    #[bighub::action(system = "systemd")]
    pub fn restart_service(unit: String) -> String {
        unit
    }

    /// Reload a service.
    #[bighub::action(system = "systemd")]
    pub(crate) fn reload_service(unit: String) -> String {
        unit
    }
}

use bighub::Action;

fn main() {
    assert_eq!(tools::RestartService.name(), "restart_service");
    assert_eq!(tools::ReloadService.name(), "reload_service");
    assert_eq!(tools::restart_service("a".into()), "a");
}
