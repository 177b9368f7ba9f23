"""Search: chunking, embeddings, the Chroma store and hybrid retrieval."""
