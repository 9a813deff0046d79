// local placeholder (index worktree), not committed
