/// Sync an Argo CD application.
#[bighub::action(system = "argocd")]
fn sync_app(app: impl Into<String>) -> String {
    app.into()
}

fn main() {}
