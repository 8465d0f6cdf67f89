use flowtrace_runtime::flowtrace;

#[flowtrace]
async fn count(items: Vec<u8>) -> usize {
    let total: usize = items.len();
    let wrong: String = total;
    wrong.len()
}

fn main() {}
