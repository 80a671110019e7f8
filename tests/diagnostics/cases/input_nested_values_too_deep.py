"""Each name nests the one before in brackets: 60 names make a value 300 levels deep (CSC020)."""

import truss_chains as chains

V0 = "numpy"
V1 = [[[[V0]]]]
V2 = [[[[V1]]]]
V3 = [[[[V2]]]]
V4 = [[[[V3]]]]
V5 = [[[[V4]]]]
V6 = [[[[V5]]]]
V7 = [[[[V6]]]]
V8 = [[[[V7]]]]
V9 = [[[[V8]]]]
V10 = [[[[V9]]]]
V11 = [[[[V10]]]]
V12 = [[[[V11]]]]
V13 = [[[[V12]]]]
V14 = [[[[V13]]]]
V15 = [[[[V14]]]]
V16 = [[[[V15]]]]
V17 = [[[[V16]]]]
V18 = [[[[V17]]]]
V19 = [[[[V18]]]]
V20 = [[[[V19]]]]
V21 = [[[[V20]]]]
V22 = [[[[V21]]]]
V23 = [[[[V22]]]]
V24 = [[[[V23]]]]
V25 = [[[[V24]]]]
V26 = [[[[V25]]]]
V27 = [[[[V26]]]]
V28 = [[[[V27]]]]
V29 = [[[[V28]]]]
V30 = [[[[V29]]]]
V31 = [[[[V30]]]]
V32 = [[[[V31]]]]
V33 = [[[[V32]]]]
V34 = [[[[V33]]]]
V35 = [[[[V34]]]]
V36 = [[[[V35]]]]
V37 = [[[[V36]]]]
V38 = [[[[V37]]]]
V39 = [[[[V38]]]]
V40 = [[[[V39]]]]
V41 = [[[[V40]]]]
V42 = [[[[V41]]]]
V43 = [[[[V42]]]]
V44 = [[[[V43]]]]
V45 = [[[[V44]]]]
V46 = [[[[V45]]]]
V47 = [[[[V46]]]]
V48 = [[[[V47]]]]
V49 = [[[[V48]]]]
V50 = [[[[V49]]]]
V51 = [[[[V50]]]]
V52 = [[[[V51]]]]
V53 = [[[[V52]]]]
V54 = [[[[V53]]]]
V55 = [[[[V54]]]]
V56 = [[[[V55]]]]
V57 = [[[[V56]]]]
V58 = [[[[V57]]]]
V59 = [[[[V58]]]]
V60 = [[[[V59]]]]


class Counter(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(pip_requirements=[V60]),  # E: CSC020
    )

    def run_remote(self, text: str) -> int:
        return len(text)
