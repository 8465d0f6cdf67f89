//! A token bucket: each client frame takes one token; tokens refill at a steady rate up to the
//! burst size. Owned by one connection's receive half, so it needs no lock.

use tokio::time::Instant;

/// One connection's rate limit.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate_per_sec: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(rate_per_sec: f64, burst: f64) -> Self {
        Self {
            rate_per_sec,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one.
    pub(crate) fn try_take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate_per_sec).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn allows_the_burst_then_the_rate() {
        let mut bucket = TokenBucket::new(20.0, 40.0);
        let burst = (0..100).take_while(|_| bucket.try_take()).count();
        assert_eq!(burst, 40);
        assert!(!bucket.try_take());
        tokio::time::advance(Duration::from_millis(100)).await;
        let refilled = (0..100).take_while(|_| bucket.try_take()).count();
        assert_eq!(refilled, 2);
        tokio::time::advance(Duration::from_secs(3600)).await;
        let capped = (0..100).take_while(|_| bucket.try_take()).count();
        assert_eq!(capped, 40);
    }
}
