"""A reusable text-splitting Chainlet, shared by several chains.

Its requirements file lives next to this module and is referenced with
`chains.make_abs_path_here`, which resolves relative to *this* file.
"""


from chainsc_generated.clients import SplitText
