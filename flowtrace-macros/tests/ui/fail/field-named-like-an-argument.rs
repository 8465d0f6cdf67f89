use flowtrace_runtime::flowtrace;

#[flowtrace(fields(room = room.len()))]
fn join(room: &str) -> usize {
    room.len()
}

fn main() {}
