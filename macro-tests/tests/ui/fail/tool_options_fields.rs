// ToolOptions is written through its setters and read through its getters only.
use bighub::ToolOptions;

fn main() {
    let options = ToolOptions::new().action_name("argocd_sync");
    let _ = options.action_name;
}
