"""Train, validate or test a memnets model from a YAML config (Lightning's CLI).

    python train.py fit --config configs/ntm_copy.yaml
    python train.py fit --config configs/ntm_copy.yaml --trainer.max_steps 2000 --seed_everything 1
    python train.py test --config configs/ntm_copy.yaml \\
        --ckpt_path runs/ntm_copy/version_0/checkpoints/last.ckpt
    python train.py fit --config configs/memn2n_babi.yaml --data.task 2
    python train.py fit --config configs/ntm_copy.yaml --print_config
"""

from memnets.training.cli import main

if __name__ == "__main__":
    main()
