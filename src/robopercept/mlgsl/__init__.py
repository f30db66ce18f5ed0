"""mlgsl: Zhu et al., *Learn to Grasp with Less Supervision: A Data-Efficient Maximum Likelihood Grasp Sampling Loss*."""
