"""The records stages hand each other: problems, solutions, judged rows, chat messages, threads."""
