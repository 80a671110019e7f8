# A chain that matches a new recipe against a small recipe collection and asks an LLM
# to explain the matches.

import os

import truss_chains as chains

RECIPES = [
    """
    Shakshuka: eggs poached in a spiced tomato and pepper sauce, finished with feta
    and parsley. A breakfast dish from North Africa.
    """,
    """
    Ramen: wheat noodles in a pork or chicken broth flavoured with soy or miso,
    topped with sliced pork, egg and spring onion.
    """,
    """
    Ratatouille: a Provencal stew of courgette, aubergine, peppers and tomato,
    slow-cooked with olive oil and herbs.
    """,
    """
    Dal tadka: yellow lentils simmered with turmeric, finished with a tempering of
    cumin, garlic and chili fried in ghee.
    """,
]

MATCHING_PROMPT = (
    "You help home cooks find related recipes. Explain in one or two sentences why "
    "the recipe described first is related to the recipes found in the collection."
)

# Deploy an LLM from the model library and paste its predict URL here.
LLM_PREDICT_URL = "https://model-xyz987.api.baseten.co/production/predict"


if not LLM_PREDICT_URL:
    raise ValueError("Please insert the predict URL of the LLM.")


class RecipeIndex(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(pip_requirements=["chromadb"])
    )

    def __init__(self):
        import chromadb

        client = chromadb.EphemeralClient()
        self._collection = client.create_collection(name="recipes")
        self._collection.add(documents=RECIPES, ids=[f"r{n}" for n in range(len(RECIPES))])

    async def run_remote(self, query: str) -> list[str]:
        results = self._collection.query(query_texts=[query], n_results=2)
        if not results or not results["documents"] or not results["documents"][0]:
            raise ValueError("No recipes found.")
        return results["documents"][0]


class LLMClient(chains.StubBase):
    async def run_remote(self, new_recipe: str, matches: list[str]) -> str:
        prompt = f"{MATCHING_PROMPT}\nNew recipe: {new_recipe}\nFound: {' '.join(matches)}"
        reply = await self.predict_async(
            {"messages": [{"role": "user", "content": prompt}], "max_new_tokens": 48}
        )
        return reply["output"][len(prompt) :].strip()


@chains.mark_entrypoint
class RecipeRAG(chains.ChainletBase):
    def __init__(
        self,
        index: RecipeIndex = chains.depends(RecipeIndex),
        context: chains.DeploymentContext = chains.depends_context(),
    ):
        self._index = index
        self._llm = LLMClient.from_url(LLM_PREDICT_URL, context)

    async def run_remote(self, new_recipe: str) -> str:
        matches = await self._index.run_remote(new_recipe)
        return await self._llm.run_remote(new_recipe, matches)


if __name__ == "__main__":
    import asyncio

    with chains.run_local(secrets={"baseten_chain_api_key": os.environ["BASETEN_API_KEY"]}):
        rag = RecipeRAG()
        print(asyncio.run(rag.run_remote("Eggs baked in a tomato sauce with cumin.")))
