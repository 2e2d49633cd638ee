/// List the pods of a namespace.
#[bighub::action(system = "kubernetes")]
fn list_pods(namespace: String) -> Vec<String> {
    vec![namespace]
}

fn main() {
    // The function, not the `ListPods` type the macro generated.
    let _ = bighub::BighubOpenAI::builder().action(list_pods);
}
