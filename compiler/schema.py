"""The configuration API as chainsc knows it, as data: constructors, enums, constants.

Stage: shared by `evaluate` (which calls are constructors, which names are enum
members and constants) and `config` (how each argument becomes a typed IR field or
a located error). One declarative schema per constructor: each field's name,
position, default, how its value is read (`reader`, a key of `config.READERS`:
its type and rule) and the code a value that breaks the rule gets. Tests hold it
equal to the runtime's own definitions (`chainsc_runtime.definitions`) and to Truss
Chains' (`tests/frontend/test_schema.py`); the compiler never imports either.
Imports: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Field:
    """One parameter of a constructor."""

    name: str
    #: How `config` reads an argument (a key of `config.READERS`): its type and rule.
    reader: str
    #: Its value when the argument is absent or invalid (as the IR holds it; `NESTED`:
    #: the constructor `reader` names, called without arguments).
    default: object = None
    #: The code of a value of the right type that breaks the field's rule (a wrong type is CSC403).
    code: str = "CSC403"
    required: bool = False


#: The default of a field that is itself a constructor call (`docker_image=DockerImage()`).
NESTED = "<nested>"


@dataclass(frozen=True, slots=True)
class Constructor:
    """An API constructor: its canonical name and fields, in their positional order."""

    api: str
    fields: tuple[Field, ...]
    #: Whether it takes its fields positionally, in order (else keywords only).
    positional: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Its parameters' names, in order."""
        return tuple(field.name for field in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        """The parameters it cannot do without."""
        return tuple(field.name for field in self.fields if field.required)

    def field(self, name: str) -> Field:
        """The field named `name`."""
        return next(field for field in self.fields if field.name == name)


def _json_fields(*names: str, required: tuple[str, ...] = ()) -> tuple[Field, ...]:
    """Fields of a Truss config helper: JSON data, passed on to `config.yaml` as written."""
    return tuple(Field(name, "json", required=name in required) for name in names)


#: Every constructor `remote_config`, `depends(...)` and their values may call, by canonical name.
CONSTRUCTORS: dict[str, Constructor] = {
    constructor.api: constructor
    for constructor in (
        Constructor(
            "chains.RemoteConfig",
            (
                Field("docker_image", "chains.DockerImage", NESTED),
                Field("compute", "chains.Compute", NESTED),
                Field("assets", "chains.Assets", NESTED),
                Field("name", "display_name", None, code="CSC113"),
                Field("options", "chains.ChainletOptions", NESTED),
                Field("build_commands", "str_list", ()),
            ),
        ),
        Constructor(
            "chains.DockerImage",
            (
                Field("base_image", "base_image", "py311"),
                # Deprecated spelling of `requirements_file` (a warning, CSC450).
                Field("pip_requirements_file", "legacy_requirements_file", None),
                Field("pip_requirements", "requirements", (), code="CSC413"),
                Field("apt_requirements", "str_list", ()),
                Field("requirements_file", "requirements_file", None),
                Field("data_dir", "data_dir", None),
                Field("external_package_dirs", "package_dirs", ()),
                Field("truss_server_version_override", "server_version", None),
            ),
        ),
        Constructor(
            "chains.Compute",
            (
                Field("cpu_count", "positive_int", 1, code="CSC404"),
                Field("memory", "memory", "2Gi", code="CSC405"),
                Field("gpu", "gpu", None, code="CSC406"),
                Field("gpu_count", "count", 1),
                Field("predict_concurrency", "concurrency", 1, code="CSC408"),
                Field("instance_type", "optional_str", None),
            ),
            positional=True,
        ),
        Constructor(
            "chains.Assets",
            (
                Field("cached", "list:truss_config.ModelRepo", ()),
                Field("secret_keys", "str_list", ()),
                Field("external_data", "list:truss_config.ExternalDataItem", ()),
                Field("weights", "list:truss_config.WeightsSource", ()),
            ),
            positional=True,
        ),
        Constructor(
            "chains.ChainletOptions",
            (
                Field("enable_b10_tracing", "bool", False),
                Field("enable_debug_logs", "bool", False),
                Field("env_variables", "str_dict", ()),
                Field("health_checks", "truss_config.HealthChecks", NESTED),
                Field("metadata", "json", None),
                Field("streaming_read_timeout", "int", 60),
                Field("transport", "transport", None),
            ),
        ),
        Constructor(
            "chains.CustomImage",
            (
                Field("image", "str", "", required=True),
                Field("python_executable_path", "optional_str", None),
                Field("docker_auth", "optional:truss_config.DockerAuthSettings", None),
            ),
        ),
        Constructor(
            "chains.RPCOptions",
            (
                Field("retries", "attempts", 1, code="CSC309"),
                Field("timeout_sec", "positive_number", 600.0, code="CSC309"),
                Field("use_binary", "bool", False),
                Field("concurrency_limit", "at_least_one", 300, code="CSC309"),
            ),
        ),
        Constructor(
            "truss_config.ModelRepo",
            _json_fields(
                "repo_id",
                "revision",
                "allow_patterns",
                "ignore_patterns",
                "volume_folder",
                "use_volume",
                "kind",
                "runtime_secret_name",
                required=("repo_id", "use_volume"),
            ),
        ),
        Constructor(
            "truss_config.ExternalDataItem",
            _json_fields(
                "url",
                "local_data_path",
                "backend",
                "name",
                required=("url", "local_data_path"),
            ),
        ),
        Constructor(
            "truss_config.WeightsSource",
            _json_fields(
                "source",
                "mount_location",
                "auth",
                "auth_secret_name",
                "allow_patterns",
                "ignore_patterns",
                required=("source", "mount_location"),
            ),
        ),
        Constructor(
            "truss_config.WeightsAuth",
            _json_fields(
                "aws_oidc_role_arn",
                "aws_oidc_region",
                "gcp_oidc_service_account",
                "gcp_oidc_workload_id_provider",
                "aws_assume_role_arn",
                "aws_assume_role_region",
                "auth_method",
                "auth_secret_name",
                required=("auth_method",),
            ),
        ),
        Constructor(
            "truss_config.HealthChecks",
            _json_fields(
                "restart_check_delay_seconds",
                "restart_threshold_seconds",
                "stop_traffic_threshold_seconds",
                "startup_threshold_seconds",
            ),
        ),
        Constructor(
            "truss_config.DockerAuthSettings",
            _json_fields(
                "aws_oidc_role_arn",
                "aws_oidc_region",
                "gcp_oidc_service_account",
                "gcp_oidc_workload_id_provider",
                "aws_assume_role_arn",
                "aws_assume_role_region",
                "auth_method",
                "registry",
                "secret_name",
                "aws_access_key_id_secret_name",
                "aws_secret_access_key_secret_name",
                required=("auth_method",),
            ),
        ),
        Constructor("truss_config.HTTPOptions", _json_fields("kind")),
        Constructor(
            "truss_config.WebsocketOptions",
            _json_fields("kind", "ping_interval_seconds", "ping_timeout_seconds"),
        ),
        Constructor("truss_config.GRPCOptions", _json_fields("kind")),
        # `engine_builder_config` (truss.base.trt_llm_config): JSON for `config.yaml`'s
        # `trt_llm`, checked by the rules of `chainsc.kinds`.
        Constructor(
            "trt_llm_config.TRTLLMConfiguration",
            _json_fields("root", required=("root",)),
            positional=True,
        ),
        Constructor(
            "trt_llm_config.TRTLLMConfigurationV1",
            _json_fields(
                "build",
                "inference_stack",
                "runtime",
                "version_overrides",
                required=("build",),
            ),
        ),
        Constructor(
            "trt_llm_config.TRTLLMConfigurationV2",
            _json_fields(
                "inference_stack",
                "build",
                "runtime",
                "version_overrides",
                required=("build", "runtime"),
            ),
        ),
        Constructor(
            "trt_llm_config.TrussTRTLLMBuildConfiguration",
            _json_fields(
                "base_model",
                "max_seq_len",
                "max_batch_size",
                "max_num_tokens",
                "max_beam_width",
                "max_prompt_embedding_table_size",
                "checkpoint_repository",
                "gather_all_token_logits",
                "strongly_typed",
                "quantization_type",
                "quantization_config",
                "tensor_parallel_count",
                "pipeline_parallel_count",
                "moe_expert_parallel_option",
                "sequence_parallel_count",
                "plugin_configuration",
                "num_builder_gpus",
                "speculator",
                "lora_adapters",
                "lora_configuration",
                "skip_build_result",
            ),
        ),
        Constructor(
            "trt_llm_config.CheckpointRepository",
            _json_fields(
                "source",
                "repo",
                "revision",
                "runtime_secret_name",
                required=("source", "repo"),
            ),
        ),
        Constructor(
            "trt_llm_config.TrussTRTLLMRuntimeConfiguration",
            _json_fields(
                "kv_cache_free_gpu_mem_fraction",
                "kv_cache_host_memory_bytes",
                "lora_cache_max_adapter_size",
                "lora_cache_optimal_adapter_size",
                "lora_cache_gpu_memory_fraction",
                "lora_cache_host_memory_bytes",
                "enable_chunked_context",
                "batch_scheduler_policy",
                "request_default_max_tokens",
                "served_model_name",
                "total_token_limit",
                "webserver_default_route",
            ),
        ),
        Constructor(
            "trt_llm_config.TRTLLMRuntimeConfigurationV2",
            _json_fields(
                "max_seq_len",
                "max_batch_size",
                "max_num_tokens",
                "tensor_parallel_size",
                "enable_chunked_prefill",
                "served_model_name",
                "patch_kwargs",
            ),
        ),
        Constructor(
            "trt_llm_config.TrussTRTLLMPluginConfiguration",
            _json_fields(
                "paged_kv_cache", "use_paged_context_fmha", "use_fp8_context_fmha"
            ),
        ),
        Constructor(
            "trt_llm_config.TrussTRTQuantizationConfiguration",
            _json_fields("calib_size", "calib_dataset", "calib_max_seq_length"),
        ),
        Constructor(
            "trt_llm_config.TrussSpeculatorConfiguration",
            _json_fields(
                "speculative_decoding_mode",
                "num_draft_tokens",
                "checkpoint_repository",
                "runtime",
                "build",
                "lookahead_windows_size",
                "lookahead_ngram_size",
                "lookahead_verification_set_size",
                "enable_b10_lookahead",
            ),
        ),
        Constructor(
            "trt_llm_config.TrussTRTLLMLoraConfiguration",
            _json_fields("max_lora_rank", "lora_target_modules"),
        ),
        Constructor(
            "trt_llm_config.VersionsOverrides",
            _json_fields(
                "engine_builder_version",
                "briton_version",
                "bei_version",
                "bei_bert_version",
                "v2_llm_version",
            ),
        ),
    )
}

#: `chains.depends(chainlet_cls, ...)`: the options after the class, as `RPCOptions` takes them.
DEPENDS = CONSTRUCTORS["chains.RPCOptions"]

#: Spellings of a constructor besides its canonical name (`chains.WeightsSource` is Truss's).
ALIASES: dict[str, str] = {"chains.WeightsSource": "truss_config.WeightsSource"}

#: API enums the evaluator knows, member name to value.
ENUMS: dict[str, dict[str, str]] = {
    "chains.BasetenImage": {"PY39": "py39", "PY310": "py310", "PY311": "py311"},
    "truss_config.Accelerator": {
        name: name
        for name in (
            "T4",
            "L4",
            "A10G",
            "V100",
            "A100",
            "A100_40GB",
            "H100",
            "H200",
            "H100_40GB",
            "B200",
            "L40S",
            "RTX_PRO_6000",
            "B300",
            "GB300",
        )
    },
    "truss_config.ModelRepoSourceKind": {
        "HF": "hf",
        "GCS": "gcs",
        "S3": "s3",
        "AZURE": "azure",
    },
    "truss_config.DockerAuthType": {
        name: name
        for name in (
            "GCP_SERVICE_ACCOUNT_JSON",
            "AWS_IAM",
            "AWS_OIDC",
            "GCP_OIDC",
            "REGISTRY_SECRET",
            "AWS_ASSUME_ROLE",
        )
    },
    "trt_llm_config.TrussTRTLLMModel": {
        "ENCODER": "encoder",
        "ENCODER_BERT": "encoder_bert",
        "DECODER": "decoder",
        "PALMYRA": "palmyra",
        "QWEN": "qwen",
        "LLAMA": "llama",
        "MISTRAL": "mistral",
        "DEEPSEEK": "deepseek",
        "WHISPER": "whisper",
    },
    "trt_llm_config.InferenceStack": {"v1": "v1", "v2": "v2"},
    "trt_llm_config.TrussTRTLLMQuantizationType": {
        "NO_QUANT": "no_quant",
        "WEIGHTS_ONLY_INT8": "weights_int8",
        "WEIGHTS_KV_INT8": "weights_kv_int8",
        "WEIGHTS_ONLY_INT4": "weights_int4",
        "WEIGHTS_INT4_KV_INT8": "weights_int4_kv_int8",
        "SMOOTH_QUANT": "smooth_quant",
        "FP8": "fp8",
        "FP8_KV": "fp8_kv",
        "FP8_MLP_ONLY": "fp8_mlp_only",
        "FP4": "fp4",
        "FP4_KV": "fp4_kv",
        "FP4_MLP_ONLY": "fp4_mlp_only",
    },
    "trt_llm_config.CheckpointSource": {
        name: name
        for name in (
            "HF",
            "GCS",
            "S3",
            "AZURE",
            "LOCAL",
            "REMOTE_URL",
            "BASETEN_TRAINING",
        )
    },
    "trt_llm_config.TrussTRTLLMBatchSchedulerPolicy": {
        "MAX_UTILIZATION": "max_utilization",
        "GUARANTEED_NO_EVICT": "guaranteed_no_evict",
    },
    "trt_llm_config.TrussSpecDecMode": {
        "DRAFT_EXTERNAL": "DRAFT_TOKENS_EXTERNAL",
        "LOOKAHEAD_DECODING": "LOOKAHEAD_DECODING",
    },
}

#: API constants (`truss_chains.public_types`), by canonical path.
CONSTANTS: dict[str, str | int | float] = {
    "chains.CPU_COUNT": "cpu_count",
    "chains.CHAIN_API_KEY_NAME": "baseten-chain-api-key",
    "chains.CHAIN_API_KEY_SECRET_NAME": "baseten_chain_api_key",
    "chains.DEFAULT_CONCURRENCY_LIMIT": 300,
    "chains.DEFAULT_TIMEOUT_SEC": 600.0,
    "chains.SECRET_DUMMY": "***",
}
