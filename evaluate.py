"""Evaluate an NTM checkpoint on longer sequences than it was trained on (bit errors vs length).

    python evaluate.py --ckpt runs/ntm_copy/version_0/checkpoints/last.ckpt \\
        --lengths 10 20 30 40 60 80 100 120 --out results/copy_generalisation
"""

from memnets.training.generalisation import main

if __name__ == "__main__":
    main()
