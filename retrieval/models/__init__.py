"""Running models of the bundled model's kind (a BERT), in torch and as ONNX, for the
index's embedder and the answer's reader alike."""
