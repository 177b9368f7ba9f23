"""Co-production Guide: answers made of verbatim, cited quotes.

Nothing heavy is imported here: `import guide` is instant. Use
`guide.engine.Guide` for the whole ask path.
"""

__version__ = "0.1.0"
