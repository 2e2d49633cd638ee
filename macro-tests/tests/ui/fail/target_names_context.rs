use bighub::tool::ToolContext;

/// Deploy a service.
#[bighub::action(system = "argocd", target = "context")]
fn deploy(service: String, context: ToolContext) -> String {
    let _ = context;
    service
}

fn main() {}
