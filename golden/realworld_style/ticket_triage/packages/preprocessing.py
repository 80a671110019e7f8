"""Text clean-up shared by the triage chain (older module, plain `import truss_chains`)."""


from chainsc_generated.clients import Preprocessor
