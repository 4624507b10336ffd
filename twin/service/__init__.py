"""The running twin: live loop, store, command path, recordings, replay, alarms, audit, summary."""
