"""Data hygiene: deterministic checks that every row teaches only what is true. `faithful`: is an
extracted problem supported by its forum post; `statement`: does a problem state its own answer;
`tool_output`: no tool output the model made up; `near_identical`: no benchmark copy; `messages`:
well-formed chat rows; `audit`: runs them over the SFT rows before the shards are final."""
