//! JSON pointers (RFC 6901) naming schema nodes in errors and in the reshaping plan.

/// `parent` extended by one reference token, escaped (`~` as `~0`, `/` as `~1`).
pub(crate) fn push(parent: &str, token: &str) -> String {
    let mut out = String::with_capacity(parent.len() + token.len() + 1);
    out.push_str(parent);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// A pointer as shown to people: the root (the empty pointer) reads `(root)`.
pub(crate) fn display(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    }
}

/// Resolves a local `$ref` (`#` or `#/json/pointer`) against `root`; returns the node and its
/// pointer. External references resolve to `None`.
pub(crate) fn resolve_ref<'a>(
    root: &'a serde_json::Value,
    reference: &str,
) -> Option<(&'a serde_json::Value, String)> {
    let fragment = reference.strip_prefix('#')?;
    if fragment.is_empty() {
        return Some((root, String::new()));
    }
    if !fragment.starts_with('/') {
        return None;
    }
    root.pointer(fragment)
        .map(|node| (node, fragment.to_owned()))
}

/// A short description of a JSON value's kind, for error messages.
pub(crate) fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_tokens() {
        assert_eq!(push("", "properties"), "/properties");
        assert_eq!(push("/properties", "a/b~c"), "/properties/a~1b~0c");
        assert_eq!(display(""), "(root)");
        assert_eq!(display("/items"), "/items");
    }

    #[test]
    fn resolves_local_refs_only() {
        let root = serde_json::json!({"$defs": {"a/b": {"type": "string"}}});
        assert_eq!(resolve_ref(&root, "#").unwrap().1, "");
        let (node, ptr) = resolve_ref(&root, "#/$defs/a~1b").unwrap();
        assert_eq!(node["type"], "string");
        assert_eq!(ptr, "/$defs/a~1b");
        assert!(resolve_ref(&root, "#/$defs/missing").is_none());
        assert!(resolve_ref(&root, "other.json#/a").is_none());
    }
}
