use flowtrace_runtime::flowtrace;

#[flowtrace(sample = 0.25)]
fn quarter(a: u64) -> u64 {
    a + 1
}

#[flowtrace(sample = 1)]
fn every(a: u64) -> u64 {
    a * 2
}

#[flowtrace(sample = 1e-3)]
fn rare() {}

#[flowtrace(name = "login", skip(pin), sample = 0.5, ret, max_arg_length = 16)]
fn login(user: &str, pin: u32) -> Result<u32, String> {
    if pin == 0 { Err(format!("no pin for {user}")) } else { Ok(pin) }
}

#[flowtrace(sample = 0.01, skip_all)]
async fn fetch(id: u64) -> u64 {
    id
}

macro_rules! traced_with_rate {
    ($rate:expr) => {
        #[flowtrace(sample = $rate)]
        fn from_macro() {}
    };
}
traced_with_rate!(0.5);

fn main() {
    assert_eq!(quarter(1), 2);
    assert_eq!(every(2), 4);
    rare();
    assert_eq!(login("ada", 7), Ok(7));
    from_macro();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(fetch(3)), 3);
}
