/// Sync an Argo CD application.
#[bighub::action(system = "argocd")]
fn sync_app(app: impl Into<String>) -> String {
    app.into()
}

/// Sync Argo CD applications.
#[bighub::action(system = "argocd")]
fn sync_apps(apps: Vec<impl Into<String>>) -> usize {
    apps.len()
}

fn main() {}
