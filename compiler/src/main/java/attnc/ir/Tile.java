package attnc.ir;

/** Tile sizes the author asks for; backends and the autotuner may choose others when absent. */
public record Tile(int q, int kv) {}
