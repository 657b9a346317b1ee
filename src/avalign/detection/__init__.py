"""Detection on the user's own files: streamed features, window scores, offset and a verdict."""
