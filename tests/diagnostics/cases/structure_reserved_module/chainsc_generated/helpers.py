# E@1:1: CSC112
def greet(name: str) -> str:
    return f"hi {name}"
