"""Writes. Views, commands, admin actions and cron jobs call these and nothing below them."""
