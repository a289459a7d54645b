# publish: SFT shards and formal statements -> Hub-ready dataset folders (splits by problem id, card
# metadata, statistics), trainer JSONL exports derived from them (rebuilt only when the shards
# change), and the optional upload of folders to the Hugging Face Hub.
from mathforge.publish.targets import folder_inputs, folder_params, hub_params, publish_targets


rule dataset_folder:
    input:
        unpack(lambda w: folder_inputs(P.results, w.kind, formal_targets())),
    output:
        folder=directory(f"{P.results}/publish/{{kind}}"),
    params:
        publish=folder_params(config["publish"]),
        dataset=config["dataset"],
    wildcard_constraints:
        kind="sft|proofs|statements",
    log:
        f"{P.logs}/dataset_folder/{{kind}}.log",
    benchmark:
        f"{P.bench}/dataset_folder/{{kind}}.tsv"
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/build_dataset_folder.py"


rule export_dataset:
    input:
        folder=f"{P.results}/publish/{{kind}}",
    output:
        export=directory(f"{P.results}/exports/{{kind}}/{{fmt}}"),
    params:
        tokenizer=lambda w: config["publish"]["tokenizer"] if w.fmt == "text" else None,
    wildcard_constraints:
        kind="sft|proofs",
        fmt="chat|nemo_skills|text",
    log:
        f"{P.logs}/export_dataset/{{kind}}-{{fmt}}.log",
    benchmark:
        f"{P.bench}/export_dataset/{{kind}}-{{fmt}}.tsv"
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/vllm.yaml"  # the text format renders with transformers' chat templates
    script:
        "../scripts/export_dataset.py"


rule publish_to_hub:
    input:
        folder=f"{P.results}/publish/{{kind}}",
    output:
        receipt=f"{P.results}/publish/hub/{{kind}}.json",
    params:
        hub=lambda w: hub_params(config["publish"]["hub"], w.kind),  # the token's variable, not the token
    wildcard_constraints:
        kind="sft|proofs|statements",
    log:
        f"{P.logs}/publish_to_hub/{{kind}}.log",
    benchmark:
        f"{P.bench}/publish_to_hub/{{kind}}.tsv"
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/publish_to_hub.py"
