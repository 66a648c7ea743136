package attnc.gen;

import attnc.ir.Input;
import attnc.ir.Param;
import java.util.List;

/** What expressions of a generated pattern may refer to: its params, its inputs and every size (standard and symbolic). */
public record Declarations(List<Param> params, List<Input> inputs, List<String> sizes) {
    public Declarations {
        params = List.copyOf(params);
        inputs = List.copyOf(inputs);
        sizes = List.copyOf(sizes);
    }
}
