package attnc.ir;

import java.util.List;

/** An input tensor the pattern reads, with a shape over sizes (int expressions of sizes and literals). */
public record Input(String name, DType dtype, List<Expr> shape, String doc) {
    public Input {
        shape = List.copyOf(shape);
    }
}
