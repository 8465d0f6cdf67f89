use flowtrace_runtime::flowtrace;

trait Store {
    #[flowtrace]
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
