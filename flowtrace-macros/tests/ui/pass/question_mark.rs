use std::error::Error;

use flowtrace_runtime::flowtrace;

#[flowtrace]
fn parse_sum(a: &str, b: &str) -> Result<i64, Box<dyn Error>> {
    if a.is_empty() {
        return Err("empty".into());
    }
    let x: i64 = a.parse()?;
    let y: i64 = b.parse()?;
    Ok(x + y)
}

#[flowtrace]
async fn parse_later(a: &str) -> Result<i64, Box<dyn Error + Send + Sync>> {
    if a.is_empty() {
        return Err(Box::new(std::fmt::Error));
    }
    Ok(a.parse::<i64>()?)
}

#[flowtrace]
fn first_char(text: &str) -> Option<char> {
    let c = text.chars().next()?;
    Some(c)
}

fn main() {
    assert_eq!(parse_sum("1", "2").unwrap(), 3);
    assert!(parse_sum("x", "2").is_err());
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(parse_later("4")).unwrap(), 4);
    assert_eq!(first_char("ab"), Some('a'));
}
