use flowtrace_runtime::flowtrace;

struct Session;

impl Session {
    #[flowtrace(skip(self))]
    fn close(&self) {}
}

fn main() {}
