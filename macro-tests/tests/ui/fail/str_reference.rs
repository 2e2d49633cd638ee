/// Sync an Argo CD application.
#[bighub::action(system = "argocd")]
fn sync_app(app: &str) -> String {
    app.to_owned()
}

fn main() {}
