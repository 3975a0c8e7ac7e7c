//! The directory service: users, groups, membership, validation and rules, over the Store trait.
