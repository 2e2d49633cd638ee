/// Sync Argo CD applications.
#[bighub::action(system = "argocd")]
fn sync_apps(apps: &[String], labels: Option<&str>, revision: &u64) -> usize {
    let _ = (labels, revision);
    apps.len()
}

fn main() {}
