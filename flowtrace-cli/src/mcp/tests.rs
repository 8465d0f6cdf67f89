//! Each tool on the CLI's fixture traces, compared with the exact structured result.
