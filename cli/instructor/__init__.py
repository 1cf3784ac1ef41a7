"""Instructor and CI tools: scaffold a new exercise, grade a class of submissions, merge shards,
run learner code under a bubblewrap sandbox. Plain functions; commands.py only parses and prints."""
