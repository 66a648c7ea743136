package attnc.ir;

import java.util.Optional;

/** A scalar parameter, set at compile time (then folded away) or at launch. */
public record Param(String name, Type type, Optional<Expr> defaultValue, String doc) {}
