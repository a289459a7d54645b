"""The judging stage: each solution's final answer against the forum's, then the vote that fixes
each problem's final answer. (Forum answer *extraction* is mathforge.problems.forum_answers.)"""
