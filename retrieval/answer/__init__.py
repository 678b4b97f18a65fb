"""Answers: the chain (condense, retrieve, select, compose, verify), the extractive
answerer, the optional LLM, citations and the decision to decline."""
