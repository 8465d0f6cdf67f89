use flowtrace_runtime::flowtrace;

#[derive(Debug, Default)]
struct Store {
    items: Vec<String>,
}

impl Store {
    #[flowtrace]
    fn new() -> Self {
        Self::default()
    }

    #[flowtrace]
    fn push(&mut self, item: &str) -> &mut Self {
        self.items.push(item.to_owned());
        self
    }

    #[flowtrace]
    fn first(&self) -> Option<&String> {
        self.items.first()
    }

    #[flowtrace]
    fn first_mut(&mut self) -> &mut String {
        &mut self.items[0]
    }

    #[flowtrace]
    fn into_items(self) -> Vec<String> {
        self.items
    }

    #[flowtrace]
    async fn count(&self) -> usize {
        self.items.len()
    }
}

trait Greeter {
    fn greet(&self, name: &str) -> String;
    async fn greet_later(&self, name: &str) -> String;
}

impl Greeter for Store {
    #[flowtrace]
    fn greet(&self, name: &str) -> String {
        format!("hi {name}")
    }

    #[flowtrace]
    async fn greet_later(&self, name: &str) -> String {
        self.greet(name)
    }
}

fn main() {
    let mut store = Store::new();
    store.push("a").push("b");
    store.first_mut().push('!');
    assert_eq!(store.first().map(String::as_str), Some("a!"));
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(store.count()), 2);
    assert_eq!(runtime.block_on(store.greet_later("x")), "hi x");
    assert_eq!(store.into_items().len(), 2);
}
