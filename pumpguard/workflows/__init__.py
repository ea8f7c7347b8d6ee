"""Workflows: train, score and assess a model on a dataset -- the jobs the CLI, the HTTP API and the
demo share. This is the one layer that joins detectors, evaluation and the network (localisation);
it touches files only where a job's output is a folder of reports.
"""
