package attnc.front;

/** Where an expression stands decides which names it may use. */
enum Place { MASK, SCORE, SCALE, NORM, OUTPUT, SHAPE, CONSTANT }
