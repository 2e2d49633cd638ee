struct Okta;

impl Okta {
    /// Suspend a user.
    #[bighub::action(system = "okta")]
    fn suspend(&self, user_id: String) -> String {
        user_id
    }
}

fn main() {}
