"""Data hygiene: checks that every SFT row teaches only what is true (no tool output the model made
up, no answer in the statement, no benchmark copy, well-formed messages), and the audit that runs
them over the rows before the shards are final."""
